"""The API's request and response bodies, one module per entity (the wire contracts between
services are in ``shared/contracts``)."""
