"""The control API behind the lab (development only): components, levers, load shapes."""
