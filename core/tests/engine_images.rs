//! The engine's image store browsed like a registry, against the real engine: an image loaded into
//! it shows among its repositories and tags and opens with its config, layers and history.

mod support;

use buildlane_core::engine::Engine;
use buildlane_core::images::engine::{self as engine_images, EngineImagesError};
use buildlane_core::images::manifest::ManifestKind;
use support::World;

#[tokio::test]
async fn an_image_loaded_into_the_engine_is_listed_and_opens_with_its_config_layers_and_history() {
    let world = World::new();
    let repository = "buildlane-test/engine-images";
    let tag = std::process::id().to_string();
    let reference = format!("{repository}:{tag}");
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(
        ctx.path().join("Dockerfile"),
        format!(
            "FROM {}/busybox:latest\nRUN echo {tag} > /made.txt\nENV GREETING=hello\nLABEL org.example.test=engine\n\
             EXPOSE 8080\nWORKDIR /srv\nCMD [\"cat\", \"/made.txt\"]\n",
            world.registry
        ),
    )
    .unwrap();
    world.docker_ok(&["buildx", "build", "--load", "-t", &reference, ctx.path().to_str().unwrap()]);
    let engine = Engine::connect(&world.builders().contexts().resolve(None).unwrap()).await.unwrap();

    let repositories = engine_images::repositories(&engine).await.unwrap();
    assert!(repositories.items.iter().any(|r| r == repository), "{:?}", repositories.items);
    assert_eq!(repositories.next, None, "the engine lists everything at once");
    let tags = engine_images::tags(&engine, repository).await.unwrap();
    assert!(tags.items.contains(&tag), "{:?}", tags.items);

    let shown = engine_images::inspect(&engine, &reference).await.unwrap();
    let inspected: serde_json::Value =
        serde_json::from_str(&world.docker_ok(&["image", "inspect", &reference])).unwrap();
    let inspected = &inspected[0];
    assert_eq!(shown.kind, ManifestKind::Image);
    assert_eq!(shown.name, reference);
    assert_eq!(shown.digest, inspected["Id"]);
    assert_eq!(shown.cli, format!("docker image inspect {reference}"));
    // Nothing to pull by digest or print raw from a registry: the engine's store is not one.
    assert_eq!((shown.cli_raw.as_deref(), shown.pull_cli.as_deref()), (None, None));
    let image = &shown.platforms[0];
    assert_eq!(
        image.platform,
        format!("{}/{}", inspected["Os"].as_str().unwrap(), inspected["Architecture"].as_str().unwrap())
    );
    let config = image.config.as_ref().unwrap();
    assert!(config.env.contains(&"GREETING=hello".to_owned()));
    assert_eq!(config.labels.get("org.example.test").map(String::as_str), Some("engine"));
    assert_eq!(config.exposed_ports, ["8080/tcp"]);
    assert_eq!(config.working_dir.as_deref(), Some("/srv"));
    assert_eq!(config.cmd, ["cat", "/made.txt"]);
    let diff_ids: Vec<&str> =
        inspected["RootFS"]["Layers"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect();
    let layers: Vec<&str> = image.layers.iter().map(|l| l.digest.as_str()).collect();
    assert_eq!(layers, diff_ids);
    assert!(image.error.is_none(), "{:?}", image.error);
    let run =
        image.history.iter().find(|h| h.created_by.contains("/made.txt")).expect("the RUN step is in the history");
    // busybox is one layer; the RUN made the next (WORKDIR makes one too, with BuildKit).
    assert_eq!(run.layer_digest.as_deref(), Some(diff_ids[1]), "the RUN made the second layer");
    assert!(image.layers.iter().all(|l| l.size > 0), "sizes come from the history: {:?}", image.layers);
    assert!(image
        .history
        .iter()
        .filter(|h| h.created_by.contains("ENV") || h.created_by.contains("LABEL"))
        .all(|h| h.empty_layer));

    let missing = engine_images::inspect(&engine, "buildlane-test/engine-images:never-built").await.unwrap_err();
    assert!(matches!(missing, EngineImagesError::NotFound { .. }));
    assert_eq!(
        missing.to_string(),
        format!("no image buildlane-test/engine-images:never-built in the engine at {}", world.host)
    );
    world.docker_ok(&["image", "rm", &reference]);
}
