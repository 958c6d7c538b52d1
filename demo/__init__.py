"""The one-command demo: a real Home Assistant set up for the simulated condo.

``python -m demo.run`` (what ``scripts/develop`` runs) starts the site simulator and
Home Assistant; :mod:`demo.bootstrap` sets Home Assistant up through its own HTTP
and websocket APIs. ``dashboard.yaml`` is the demo's dashboard.
"""
