"""The external-API proxy: a person's dashboard reads a provider's API through the server, which
adds the stored credential, caches, rate-limits and audits (DESIGN.md section 14)."""
