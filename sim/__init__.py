"""miglab: predict QEMU live migration."""
