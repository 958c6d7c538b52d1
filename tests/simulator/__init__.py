"""Tests of the site simulator: vehicles, the site model, and a site on 127.0.0.1."""
