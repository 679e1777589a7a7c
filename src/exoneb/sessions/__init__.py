"""The therapy-session state machine that ties the four steps together."""
