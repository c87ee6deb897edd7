local image = "{{ must_env `IMAGE` }}";
{
  family: "app",
  containerDefinitions: [{ name: "app", image: image }],
}
