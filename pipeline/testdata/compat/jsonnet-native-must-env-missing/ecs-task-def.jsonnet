{
  family: "app",
  containerDefinitions: [{ name: "app", image: std.native("must_env")("IMAGE") }],
}
