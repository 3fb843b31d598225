"""HTTP routes of the web server."""
