"""Accountability: statements of reasons (EU DSA), user notices, transparency and advertiser
reports, ad review rules and the auditor API, all built from the decisions themselves."""
