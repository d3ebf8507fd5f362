"""The Orderly REST client: signing, typed endpoints, error kinds, retries and budgets.

Entry points: `client.OrderlyClient`, `signing.Signer`, `errors` (what went wrong and what to
do next), `types` (what the API returns), `ratelimit.RateLimiter`. Nothing here prints or logs.
"""
