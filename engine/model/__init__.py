"""The compiled policy: frozen dataclasses, award forms (one file each), and applicants' facts."""
