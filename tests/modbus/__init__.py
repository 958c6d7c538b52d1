"""Tests of the Home-Assistant-free Modbus meter client, against a simulated meter."""
