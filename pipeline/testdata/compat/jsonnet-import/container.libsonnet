{ app(image):: { name: "app", image: image } }
