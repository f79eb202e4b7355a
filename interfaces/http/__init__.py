"""The aiohttp service: app factory, routes, thin handlers, error mapping."""
