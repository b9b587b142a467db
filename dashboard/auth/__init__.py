"""Access control: users, sessions, inspector links, the audit log and the policy tables."""
