"""Patient information: the public page and printable leaflet about the therapy."""
