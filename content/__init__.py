"""What cunzhan knows and says: templates, regions and (later) the policy corpus."""
