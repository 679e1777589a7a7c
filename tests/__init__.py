"""exoneb test suite (a regular package, so an installed package named ``tests`` never shadows it)."""
