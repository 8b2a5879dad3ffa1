//! "Copy as CLI": the `docker buildx …` command line equivalent to each builder action.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{CreateBuilderRequest, RemoveOptions, UseOptions};

/// An action the Builders view can take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase", tag = "action")]
#[ts(export)]
pub enum BuilderAction {
    List,
    Create {
        request: CreateBuilderRequest,
    },
    Boot {
        name: String,
    },
    /// `docker buildx inspect [--bootstrap] NAME`
    Inspect {
        name: String,
        bootstrap: bool,
    },
    Use {
        name: String,
        options: UseOptions,
    },
    Stop {
        name: String,
    },
    Remove {
        name: String,
        options: RemoveOptions,
    },
    /// A node leaves its builder (`create --leave`).
    Leave {
        name: String,
        node: String,
    },
}

/// The command line, shell-quoted so that it can be pasted as is.
pub fn command_line(action: &BuilderAction) -> String {
    let mut args: Vec<String> = vec!["docker".into(), "buildx".into()];
    let mut push = |items: &[&str]| args.extend(items.iter().map(|s| s.to_string()));
    match action {
        BuilderAction::List => push(&["ls"]),
        BuilderAction::Create { request } => {
            push(&["create", "--name", request.name.trim()]);
            if request.append {
                push(&["--append"]);
            }
            if !request.node.trim().is_empty() {
                push(&["--node", request.node.trim()]);
            }
            if !request.driver.is_empty() {
                push(&["--driver", &request.driver]);
            }
            for opt in request.driver_opts.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
                push(&["--driver-opt", opt]);
            }
            if !request.buildkitd_flags.trim().is_empty() {
                push(&["--buildkitd-flags", request.buildkitd_flags.trim()]);
            }
            if let Some(config) = request.buildkitd_config.as_deref().filter(|c| !c.trim().is_empty()) {
                push(&["--buildkitd-config", config]);
            }
            let platforms: Vec<&str> = request.platforms.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).collect();
            if !platforms.is_empty() {
                push(&["--platform", &platforms.join(",")]);
            }
            if request.use_builder {
                push(&["--use"]);
            }
            if request.bootstrap {
                push(&["--bootstrap"]);
            }
            if !request.endpoint.trim().is_empty() {
                push(&[request.endpoint.trim()]);
            }
        }
        BuilderAction::Leave { name, node } => push(&["create", "--leave", "--name", name, "--node", node]),
        BuilderAction::Boot { name } => push(&["inspect", "--bootstrap", name]),
        BuilderAction::Inspect { name, bootstrap } => {
            push(&["inspect"]);
            if *bootstrap {
                push(&["--bootstrap"]);
            }
            push(&[name]);
        }
        BuilderAction::Use { name, options } => {
            push(&["use"]);
            if options.global {
                push(&["--global"]);
            }
            if options.default {
                push(&["--default"]);
            }
            push(&[name]);
        }
        BuilderAction::Stop { name } => push(&["stop", name]),
        BuilderAction::Remove { name, options } => {
            push(&["rm"]);
            if options.keep_state {
                push(&["--keep-state"]);
            }
            if options.keep_daemon {
                push(&["--keep-daemon"]);
            }
            push(&[name]);
        }
    }
    shell_words::join(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_is_written_with_every_option_the_form_set() {
        let request = CreateBuilderRequest {
            name: "arm".into(),
            driver: "docker-container".into(),
            driver_opts: vec!["image=moby/buildkit:v0.13.1".into(), "env.A=b c".into()],
            buildkitd_flags: "--debug".into(),
            buildkitd_config: None,
            platforms: vec!["linux/arm64".into(), "linux/arm/v7".into()],
            use_builder: true,
            bootstrap: true,
            ..Default::default()
        };
        assert_eq!(
            command_line(&BuilderAction::Create { request }),
            "docker buildx create --name arm --driver docker-container --driver-opt 'image=moby/buildkit:v0.13.1' \
             --driver-opt 'env.A=b c' --buildkitd-flags --debug --platform linux/arm64,linux/arm/v7 --use --bootstrap"
        );
    }

    #[test]
    fn a_remote_builder_ends_with_its_address() {
        let request = CreateBuilderRequest {
            name: "far".into(),
            driver: "remote".into(),
            endpoint: "tcp://10.0.0.5:1234".into(),
            driver_opts: vec![
                "cacert=/certs/ca.pem".into(),
                "cert=/certs/cert.pem".into(),
                "key=/certs/key.pem".into(),
            ],
            ..Default::default()
        };
        assert_eq!(
            command_line(&BuilderAction::Create { request }),
            "docker buildx create --name far --driver remote --driver-opt 'cacert=/certs/ca.pem' \
             --driver-opt 'cert=/certs/cert.pem' --driver-opt 'key=/certs/key.pem' tcp://10.0.0.5:1234"
        );
    }

    #[test]
    fn a_node_is_appended_to_a_builder_and_leaves_it() {
        let request = CreateBuilderRequest {
            name: "farm".into(),
            driver: "remote".into(),
            endpoint: "tcp://10.0.0.6:1234".into(),
            platforms: vec!["linux/arm64".into()],
            append: true,
            node: "arm".into(),
            ..Default::default()
        };
        assert_eq!(
            command_line(&BuilderAction::Create { request }),
            "docker buildx create --name farm --append --node arm --driver remote --platform linux/arm64 tcp://10.0.0.6:1234"
        );
        let leave = BuilderAction::Leave { name: "farm".into(), node: "arm".into() };
        assert_eq!(command_line(&leave), "docker buildx create --leave --name farm --node arm");
    }

    #[test]
    fn rm_use_stop_and_boot() {
        let rm =
            BuilderAction::Remove { name: "b".into(), options: RemoveOptions { keep_state: true, keep_daemon: false } };
        assert_eq!(command_line(&rm), "docker buildx rm --keep-state b");
        let use_ = BuilderAction::Use { name: "b".into(), options: UseOptions { global: true, default: true } };
        assert_eq!(command_line(&use_), "docker buildx use --global --default b");
        assert_eq!(command_line(&BuilderAction::Stop { name: "b".into() }), "docker buildx stop b");
        assert_eq!(command_line(&BuilderAction::Boot { name: "b".into() }), "docker buildx inspect --bootstrap b");
        let inspect = |bootstrap| BuilderAction::Inspect { name: "my builder".into(), bootstrap };
        assert_eq!(command_line(&inspect(false)), "docker buildx inspect 'my builder'");
        assert_eq!(command_line(&inspect(true)), "docker buildx inspect --bootstrap 'my builder'");
        assert_eq!(command_line(&BuilderAction::List), "docker buildx ls");
    }
}
