"""Monitoring: Prometheus metrics, the three-axis evaluation matrix, drift and the /ui page."""
