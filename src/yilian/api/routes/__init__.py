"""JSON API routers, one module per capability under /api."""
