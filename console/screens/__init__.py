"""One screen per pane; each has a sibling .tcss whose rules start with the screen's type."""
