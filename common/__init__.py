"""What every app shares and no app owns; imports no app."""
