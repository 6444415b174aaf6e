"""Server-rendered pages: templates, language, navigation, error pages."""
