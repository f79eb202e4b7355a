"""The dashboard: plain HTML/CSS/JS pages over the same public JSON API.

The pages are static files shipped in the package (no build step); the
browser signs in once with a tenant API key and then calls ``/api/tenants/...``
with a session cookie instead of the key.
"""
