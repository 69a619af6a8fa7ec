"""The HTTP service (`policy serve`): policies compiled once, evaluated per request, an OpenAPI document and a
case worker's form."""
