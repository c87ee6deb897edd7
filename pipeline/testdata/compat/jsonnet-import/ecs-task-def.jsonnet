local c = import "container.libsonnet";
{
  family: "app",
  containerDefinitions: [c.app("nginx:latest")],
}
