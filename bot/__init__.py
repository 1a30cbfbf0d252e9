"""The shell of cunzhan: settings, composition, routing, dialogs and channel adapters."""
