// Real code lands with this package's issue; see README.md.
export {};
