"""The API's response bodies, one module per capability; request bodies live with their routes."""
