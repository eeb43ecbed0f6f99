"""The static HTML archive: pages any web server (or a file browser) shows, no application server.

Modules: ``texts`` (a cache of each post's readable text and search words), ``feeds``
(the two Atom feeds), ``site`` (which pages exist, rendering them with the jinja2 templates
in ``web/templates``, writing only the pages whose bytes changed). Settings: [archive]
html_dir, html_public; [list] archive_url.
"""
