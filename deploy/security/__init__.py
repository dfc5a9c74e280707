"""Secure mode of the local stack (`pipeline up --secure`): a local CA and broker certificates
(`tls`), one SCRAM user per principal (`credentials`), the role table `deploy/roles.toml` turned
into principals and ACL bindings (`roles`), and applying both to a running cluster (`apply`)."""
