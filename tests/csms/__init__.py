"""Tests of the Home-Assistant-free OCPP central system, against simulated chargers."""
