"""The API gateway: the single entry behind nginx that routes /api/<service>/... to that service's replicas."""
