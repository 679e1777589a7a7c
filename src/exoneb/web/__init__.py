"""The web application: app factory, shared page layout and static assets."""
