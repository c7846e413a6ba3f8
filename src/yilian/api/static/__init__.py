"""The built web app and the OHIF viewer, served as static files."""
