"""What people read: the calculation sheet, result JSON, the review page."""
