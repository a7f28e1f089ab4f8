"""The SES v1 Query API (2010-12-01): `POST /` with `Action=…`, answered in the model's XML.

`views` is the endpoint, `query` the wire format (form in, XML out, both from botocore's `ses`
model), `errors` the v1 codes and the one table translating the v2 dialect's errors; the
actions live in `identities`, `resources` (templates, configuration sets) and `account`.
SigV4 is the v2 API's (`api.sigv4`, `api.auth`).
"""
