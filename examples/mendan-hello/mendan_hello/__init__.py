"""mendan-hello: an example third-party mendan plugin (key `hello`)."""
