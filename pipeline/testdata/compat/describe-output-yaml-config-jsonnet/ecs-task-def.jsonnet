{
  taskDefinition: {
    family: "app",
    containerDefinitions: [{ name: "app", image: "nginx:" + std.extVar("TAG") }],
  },
}
