//! The request: the Build view's form and `buildlane build`'s flags, checked before anything is
//! asked of a builder (context, Dockerfile, platforms, tags, key=values, secrets, caches, outputs).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{BuildError, ProvenanceAttest};
use crate::buildkit::session::content::{self, OciLayout};
use crate::buildkit::session::secrets::{SecretSource, SecretStore, MAX_SECRET_BYTES};
use crate::buildkit::session::ssh_agent::SshAgents;
use crate::buildkit::solve::CacheEntry;
use crate::go_text::parse_bool::parse_bool;
use crate::images::reference::ImageReference;
use crate::platform::Platform;

/// What `--output` gives an exporter besides `type` and `dest` (`compression=zstd`,
/// `oci-mediatypes=true`, `name=…`, `annotation.*=…`, `tar=false`, …): buildx passes each to
/// BuildKit's exporter as written, and so does Buildlane.
pub type ExporterAttrs = BTreeMap<String, String>;

/// One place the result goes (`--push`, `--load`, each `--output`); a build has a list of them,
/// each one exporter of its solve, as buildx 0.13 lists them. Each exporter's further attributes
/// are `attrs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase", tag = "type")]
#[ts(export)]
pub enum BuildOutput {
    /// Build only, the result staying in BuildKit's cache (buildx's `type=cacheonly`, which no
    /// exporter runs: it only says not to load by default).
    CacheOnly,
    /// The image exporter, pushing (`--push`, `type=registry`, `type=image,push=true`).
    Push {
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        attrs: ExporterAttrs,
    },
    /// The image exporter without a push (`type=image`): the image stays in the builder's own
    /// store; on the docker driver the engine's, as with a load.
    Image {
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        attrs: ExporterAttrs,
    },
    /// Into the engine's images (`--load`, `type=docker` without `dest`).
    Load {
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        attrs: ExporterAttrs,
    },
    /// An OCI image as a tarball, or as a layout folder with `tar=false`.
    Oci {
        dest: String,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        attrs: ExporterAttrs,
    },
    /// A docker image as a tarball, or as a layout folder with `tar=false`.
    Docker {
        dest: String,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        attrs: ExporterAttrs,
    },
    /// The result's filesystem as a tarball.
    Tar {
        dest: String,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        attrs: ExporterAttrs,
    },
    /// The result's filesystem written into a folder.
    Local {
        dest: String,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        attrs: ExporterAttrs,
    },
}

impl BuildOutput {
    pub fn push() -> Self {
        BuildOutput::Push { attrs: ExporterAttrs::new() }
    }

    pub fn image() -> Self {
        BuildOutput::Image { attrs: ExporterAttrs::new() }
    }

    pub fn load() -> Self {
        BuildOutput::Load { attrs: ExporterAttrs::new() }
    }

    pub fn oci(dest: impl Into<String>) -> Self {
        BuildOutput::Oci { dest: dest.into(), attrs: ExporterAttrs::new() }
    }

    pub fn docker(dest: impl Into<String>) -> Self {
        BuildOutput::Docker { dest: dest.into(), attrs: ExporterAttrs::new() }
    }

    pub fn tar(dest: impl Into<String>) -> Self {
        BuildOutput::Tar { dest: dest.into(), attrs: ExporterAttrs::new() }
    }

    pub fn local(dest: impl Into<String>) -> Self {
        BuildOutput::Local { dest: dest.into(), attrs: ExporterAttrs::new() }
    }

    /// The same output with these exporter attributes (build only has none).
    pub fn with_attrs(self, attrs: ExporterAttrs) -> Self {
        match self {
            BuildOutput::CacheOnly => BuildOutput::CacheOnly,
            BuildOutput::Push { .. } => BuildOutput::Push { attrs },
            BuildOutput::Image { .. } => BuildOutput::Image { attrs },
            BuildOutput::Load { .. } => BuildOutput::Load { attrs },
            BuildOutput::Oci { dest, .. } => BuildOutput::Oci { dest, attrs },
            BuildOutput::Docker { dest, .. } => BuildOutput::Docker { dest, attrs },
            BuildOutput::Tar { dest, .. } => BuildOutput::Tar { dest, attrs },
            BuildOutput::Local { dest, .. } => BuildOutput::Local { dest, attrs },
        }
    }

    /// The exporter attributes given with it (none for `CacheOnly`, which no exporter runs).
    pub fn attrs(&self) -> Option<&ExporterAttrs> {
        match self {
            BuildOutput::CacheOnly => None,
            BuildOutput::Push { attrs }
            | BuildOutput::Image { attrs }
            | BuildOutput::Load { attrs }
            | BuildOutput::Oci { attrs, .. }
            | BuildOutput::Docker { attrs, .. }
            | BuildOutput::Tar { attrs, .. }
            | BuildOutput::Local { attrs, .. } => Some(attrs),
        }
    }

    /// The file or folder it writes.
    pub fn dest(&self) -> Option<&str> {
        match self {
            BuildOutput::Oci { dest, .. }
            | BuildOutput::Docker { dest, .. }
            | BuildOutput::Tar { dest, .. }
            | BuildOutput::Local { dest, .. } => Some(dest),
            _ => None,
        }
    }

    /// Whether it has exporter attributes.
    pub fn has_attrs(&self) -> bool {
        self.attrs().is_some_and(|a| !a.is_empty())
    }

    /// Whether the image this output makes is named by the tags (buildx fills `name` on its image,
    /// oci and docker exporters); a filesystem tar or folder, or nothing, has no name.
    pub(super) fn named(&self) -> bool {
        matches!(
            self,
            BuildOutput::Push { .. }
                | BuildOutput::Image { .. }
                | BuildOutput::Load { .. }
                | BuildOutput::Oci { .. }
                | BuildOutput::Docker { .. }
        )
    }

    pub fn is_push(&self) -> bool {
        matches!(self, BuildOutput::Push { .. })
    }

    pub fn is_load(&self) -> bool {
        matches!(self, BuildOutput::Load { .. })
    }

    /// An oci or docker output written as an OCI layout folder (`tar=false`, read as Go's
    /// `strconv.ParseBool`, anything else being a tarball, as buildx reads it).
    pub fn is_layout_folder(&self) -> bool {
        matches!(self, BuildOutput::Oci { attrs, .. } | BuildOutput::Docker { attrs, .. }
            if attrs.get("tar").and_then(|t| parse_bool(t)) == Some(false))
    }
}

/// The Build view's form, and `buildlane build`'s flags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(export)]
pub struct BuildRequest {
    /// The context folder.
    pub context: String,
    /// The Dockerfile; empty means `Dockerfile` in the context, a relative path is taken from the context.
    pub dockerfile: String,
    pub platforms: Vec<String>,
    pub tags: Vec<String>,
    /// `KEY=VALUE`
    pub build_args: Vec<String>,
    /// `KEY=VALUE`
    pub labels: Vec<String>,
    pub target: String,
    pub no_cache: bool,
    /// Always pull referenced images (`--pull`): each base image is resolved in its registry,
    /// not taken from what the builder already has.
    pub pull: bool,
    /// Where the result goes, in order; none, or only `CacheOnly`: build only.
    pub outputs: Vec<BuildOutput>,
    /// `--provenance`, `--attest type=provenance,…`.
    pub provenance: ProvenanceAttest,
    /// An SBOM attestation per platform (`--sbom`), made by running a scanner image on the result.
    pub sbom: bool,
    /// The scanner image (`--sbom generator=IMAGE`); empty: BuildKit's default
    /// (`docker/buildkit-syft-scanner`).
    pub sbom_generator: String,
    /// Empty: the current builder.
    pub builder: String,
    /// `id=NAME,src=FILE` or `id=NAME,env=VARIABLE`, as `--secret` takes them.
    pub secrets: Vec<String>,
    /// `--cache-from`: `type=registry,ref=REF` (or just `REF`), or `type=local,src=DIR[,tag=T|digest=D]`.
    pub cache_from: Vec<String>,
    /// `--cache-to`: `type=registry,ref=REF[,mode=max]`, `type=local,dest=DIR[,mode=max]` or `type=inline`.
    pub cache_to: Vec<String>,
    /// Solve each platform on its own, so that one that fails does not cancel the others
    /// (`--keep-going`; buildx has no such option). Nothing goes under the tags unless every
    /// platform succeeded, or `push_partial`.
    pub keep_going: bool,
    /// With keep-going and push: when some platforms fail, push the index of the ones that
    /// succeeded under the tags (`--push-partial`).
    pub push_partial: bool,
    /// `--build-context NAME=VALUE`: a folder, or what the frontend fetches itself
    /// (`docker-image://REF`, `target:STAGE`, a git or HTTP URL).
    pub build_contexts: Vec<String>,
    /// `--network`: RUN steps' network, `default` (or empty), `host` or `none`.
    pub network: String,
    /// `--add-host HOST:IP` (or `HOST=IP`): lines RUN steps find in /etc/hosts.
    pub add_hosts: Vec<String>,
    /// `--annotation [TYPE[PLATFORM]:]KEY=VALUE`: OCI annotations on the image, its index or
    /// their descriptors.
    pub annotations: Vec<String>,
    /// `--ssh default|ID[=SOCKET]`: the ssh-agents `RUN --mount=type=ssh` may use (`default`:
    /// `$SSH_AUTH_SOCK`).
    pub ssh: Vec<String>,
}

impl BuildRequest {
    /// The outputs that export something, in order (each exporter's index is its id in the
    /// session): `CacheOnly` runs none, and buildx drops it from the list too.
    pub fn exported(&self) -> impl Iterator<Item = &BuildOutput> {
        self.outputs.iter().filter(|o| **o != BuildOutput::CacheOnly)
    }

    /// Whether the result goes to a registry.
    pub fn pushes(&self) -> bool {
        self.outputs.iter().any(BuildOutput::is_push)
    }
}

/// A request that passed validation.
#[derive(Debug, Clone)]
pub(crate) struct Checked {
    pub context: PathBuf,
    pub dockerfile_dir: PathBuf,
    pub dockerfile_name: String,
    pub dockerfile: PathBuf,
    pub platforms: Vec<Platform>,
}

pub(super) fn key_values(items: &[String], what: &'static str) -> Result<Vec<(String, String)>, BuildError> {
    items
        .iter()
        .map(|i| i.trim())
        .filter(|i| !i.is_empty())
        .map(|item| match item.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
            _ => Err(BuildError::KeyValue { what, item: item.to_owned() }),
        })
        .collect()
}

pub(crate) fn check(request: &BuildRequest) -> Result<Checked, BuildError> {
    let context = PathBuf::from(request.context.trim());
    let meta = std::fs::metadata(&context).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => BuildError::ContextMissing(context.clone()),
        _ => BuildError::ContextUnreadable { path: context.clone(), reason: crate::io_error::reason(&e) },
    })?;
    if !meta.is_dir() {
        return Err(BuildError::ContextNotFolder(context));
    }
    std::fs::read_dir(&context)
        .map_err(|e| BuildError::ContextUnreadable { path: context.clone(), reason: crate::io_error::reason(&e) })?;
    let context = context
        .canonicalize()
        .map_err(|e| BuildError::ContextUnreadable { path: context.clone(), reason: e.to_string() })?;
    let dockerfile = crate::dockerfile::path(&context, &request.dockerfile);
    if !dockerfile.is_file() {
        return Err(BuildError::DockerfileMissing(dockerfile));
    }
    let mut platforms = Vec::new();
    for raw in &request.platforms {
        for item in raw.split(',') {
            if item.trim().is_empty() {
                return Err(BuildError::EmptyPlatform);
            }
            let p: Platform = item.parse()?;
            if !platforms.contains(&p) {
                platforms.push(p);
            }
        }
    }
    for tag in request.tags.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
        tag.parse::<ImageReference>().map_err(|source| BuildError::Tag { tag: tag.to_owned(), source })?;
    }
    key_values(&request.build_args, "build arg")?;
    key_values(&request.labels, "label")?;
    secrets(&request.secrets)?;
    ssh_agents(request)?;
    super::named_contexts::parse(&request.build_contexts)?;
    network(request)?;
    super::annotations::exporter_attrs(&request.annotations)?;
    cache_entries(&request.cache_from, "import")?;
    cache_entries(&request.cache_to, "export")?;
    request.provenance.check()?;
    if request.push_partial && !request.keep_going {
        return Err(BuildError::PushPartialNeeds("--keep-going"));
    }
    if request.push_partial && !matches!(request.exported().collect::<Vec<_>>()[..], [only] if only.is_push()) {
        return Err(BuildError::PushPartialNeeds("--push"));
    }
    // buildx asks for a tag only where a pushing output has no `name` of its own.
    let unnamed = |o: &&BuildOutput| o.attrs().and_then(|a| a.get("name")).is_none_or(|n| n.is_empty());
    if tags(request).is_empty() && request.outputs.iter().filter(|o| o.is_push()).any(|o| unnamed(&o)) {
        return Err(BuildError::TagRequired);
    }
    for output in &request.outputs {
        let Some(dest) = output.dest() else { continue };
        let path = Path::new(dest);
        if matches!(output, BuildOutput::Local { .. }) || output.is_layout_folder() {
            // A local output's folder (or an OCI layout's) is made with its parents when the files
            // arrive, as buildx makes it; a file in its place is refused before the build, as
            // buildx refuses it.
            if path.exists() && !path.is_dir() {
                return Err(BuildError::OutputIsFile(path.to_path_buf()));
            }
        } else {
            if path.is_dir() {
                return Err(BuildError::OutputIsFolder(path.to_path_buf()));
            }
            let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            if !parent.is_dir() {
                return Err(BuildError::OutputFolderMissing(path.to_path_buf()));
            }
        }
    }
    if request.exported().filter(|o| o.is_layout_folder()).nth(1).is_some() {
        return Err(BuildError::LayoutFolders);
    }
    // A docker tarball holds one image, not a list of them (several platforms, or attestations
    // asked for beside each: an SBOM, a provenance other than buildx's default): refused before
    // building, as buildx refuses it, where BuildKit would fail the export.
    let docker_tarball = |o: &BuildOutput| matches!(o, BuildOutput::Docker { .. }) && !o.is_layout_folder();
    let attested = request.sbom || request.provenance.is_explicit();
    if (platforms.len() > 1 || attested) && request.outputs.iter().any(docker_tarball) {
        return Err(BuildError::DockerTarballList);
    }
    Ok(Checked {
        dockerfile_dir: dockerfile.parent().map(Path::to_path_buf).unwrap_or_else(|| context.clone()),
        dockerfile_name: dockerfile
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "Dockerfile".into()),
        dockerfile,
        context,
        platforms,
    })
}

/// What `--network` and `--add-host` ask of the frontend, as buildx asks it: `force-network-mode`
/// for `host` (which needs the `network.host` entitlement) or `none`, and `add-hosts` as
/// `HOST=IP,…`.
pub(super) struct Network {
    pub mode: Option<&'static str>,
    pub add_hosts: Option<String>,
}

impl Network {
    pub fn entitlements(&self) -> Vec<String> {
        if self.mode == Some("host") {
            return vec!["network.host".into()];
        }
        Vec::new()
    }

    pub fn attrs(&self) -> impl Iterator<Item = (String, String)> + '_ {
        let mode = self.mode.map(|m| ("force-network-mode".to_owned(), m.to_owned()));
        mode.into_iter().chain(self.add_hosts.clone().map(|hosts| ("add-hosts".to_owned(), hosts)))
    }
}

pub(super) fn network(request: &BuildRequest) -> Result<Network, BuildError> {
    let mode = match request.network.trim() {
        "" | "default" => None,
        "host" => Some("host"),
        "none" => Some("none"),
        other => return Err(BuildError::NetworkMode(other.to_owned())),
    };
    let hosts = request
        .add_hosts
        .iter()
        .map(|h| h.trim())
        .filter(|h| !h.is_empty())
        .map(|h| match h.split_once('=').or_else(|| h.split_once(':')) {
            Some((host, ip)) if !host.is_empty() && !ip.is_empty() => Ok(format!("{host}={ip}")),
            _ => Err(BuildError::AddHost(h.to_owned())),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Network { mode, add_hosts: (!hosts.is_empty()).then(|| hosts.join(",")) })
}

/// Parses `--secret` items; a bare `id=X` reads the environment variable X, as buildx does.
pub(super) fn secrets(items: &[String]) -> Result<SecretStore, BuildError> {
    let mut store = SecretStore::default();
    for item in items.iter().map(|i| i.trim()).filter(|i| !i.is_empty()) {
        let fields: BTreeMap<&str, &str> = item.split(',').filter_map(|kv| kv.split_once('=')).collect();
        let id = fields.get("id").filter(|id| !id.is_empty()).ok_or_else(|| BuildError::Secret(item.to_owned()))?;
        let source = match (fields.get("src").or(fields.get("source")), fields.get("env")) {
            (Some(src), None) => {
                let (id, path) = (id.to_string(), PathBuf::from(src));
                match std::fs::metadata(&path) {
                    Err(_) => return Err(BuildError::SecretFileMissing { id, path }),
                    Ok(meta) if !meta.is_file() => return Err(BuildError::SecretFileNotRegular { id, path }),
                    Ok(meta) if meta.len() > MAX_SECRET_BYTES => {
                        return Err(BuildError::SecretFileTooLarge { id, path, limit: MAX_SECRET_BYTES })
                    }
                    Ok(_) => SecretSource::File(path),
                }
            }
            (None, Some(env)) => SecretSource::Env(env.to_string()),
            (None, None) => SecretSource::Env(id.to_string()),
            (Some(_), Some(_)) => return Err(BuildError::Secret(item.to_owned())),
        };
        store.0.insert(id.to_string(), source);
    }
    Ok(store)
}

/// The `--ssh` agents, `default` being the client's `SSH_AUTH_SOCK`.
pub(super) fn ssh_agents(request: &BuildRequest) -> Result<SshAgents, BuildError> {
    let items: Vec<String> =
        request.ssh.iter().map(|i| i.trim()).filter(|i| !i.is_empty()).map(str::to_owned).collect();
    Ok(SshAgents::from_specs(&items, std::env::var_os("SSH_AUTH_SOCK").as_deref())?)
}

/// Parses `--cache-from`/`--cache-to` items as buildx does: `key=value` fields, a bare reference
/// meaning a registry cache. Registry, inline and local caches are supported. A local export's
/// `dest` is made (BuildKit's client does so too) and must be writable; a local import's `src` must
/// be an OCI layout whose `index.json` tags the cache (`tag`, default `latest`) unless `digest` names
/// it, and the digest is filled in as BuildKit's client does. BuildKit's client skips a missing
/// `src` with a warning; here it is an error before the build.
pub(super) fn cache_entries(items: &[String], what: &'static str) -> Result<Vec<CacheEntry>, BuildError> {
    let mut entries = Vec::new();
    for item in items.iter().map(|i| i.trim()).filter(|i| !i.is_empty()) {
        let bad = || BuildError::Cache { what, item: item.to_owned() };
        let mut attrs: BTreeMap<String, String> = BTreeMap::new();
        if !item.contains('=') {
            attrs.insert("type".into(), "registry".into());
            attrs.insert("ref".into(), item.to_owned());
        } else {
            for field in item.split(',') {
                let (k, v) = field.split_once('=').ok_or_else(bad)?;
                attrs.insert(k.trim().to_owned(), v.trim().to_owned());
            }
        }
        let kind = attrs.remove("type").unwrap_or_else(|| "registry".into());
        match kind.as_str() {
            "registry" if attrs.get("ref").is_some_and(|r| r.parse::<ImageReference>().is_ok()) => {}
            "inline" if what == "export" => {}
            "local" if what == "export" && attrs.get("dest").is_some_and(|d| !d.is_empty()) => {
                OciLayout::create(Path::new(&attrs["dest"])).map_err(BuildError::CacheDest)?;
            }
            "local" if what == "import" && attrs.get("src").is_some_and(|s| !s.is_empty()) => {
                let layout = OciLayout::open(Path::new(&attrs["src"])).map_err(BuildError::CacheSource)?;
                match attrs.get("digest").filter(|d| !d.is_empty()) {
                    Some(digest) => {
                        layout.require_blob(digest).map_err(BuildError::CacheSource)?;
                    }
                    None => {
                        let tag = attrs.get("tag").map(String::as_str).unwrap_or("latest");
                        let found = layout.tagged(tag).map_err(BuildError::CacheSource)?;
                        let digest = found["digest"].as_str().unwrap_or_default().to_owned();
                        attrs.insert("digest".into(), digest);
                    }
                }
            }
            _ => return Err(bad()),
        }
        entries.push(CacheEntry { kind, attrs });
    }
    Ok(entries)
}

/// The session's content stores for the local caches among `entries`, by the id BuildKit asks for
/// (`local:` + `dest` or `src` as given). The entries passed [`cache_entries`].
pub(super) fn local_caches(
    entries: &[CacheEntry],
    what: &'static str,
) -> Result<HashMap<String, OciLayout>, BuildError> {
    let mut stores = HashMap::new();
    for entry in entries.iter().filter(|e| e.kind == "local") {
        let (dir, layout) = if what == "export" {
            let dir = entry.attrs["dest"].clone();
            let layout = OciLayout::create(Path::new(&dir)).map_err(BuildError::CacheDest)?;
            (dir, layout)
        } else {
            let dir = entry.attrs["src"].clone();
            let layout = OciLayout::open(Path::new(&dir)).map_err(BuildError::CacheSource)?;
            (dir, layout)
        };
        stores.insert(format!("{}{dir}", content::STORE_ID_PREFIX), layout);
    }
    Ok(stores)
}

pub(super) fn tags(request: &BuildRequest) -> Vec<String> {
    request.tags.iter().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect()
}

/// The names this build's outputs give an image: none when none makes an image (build only, a
/// filesystem tar or folder), however many the form still holds from an earlier build. The tags,
/// or without tags the `name` each output was given (`-o type=image,name=…`), as the exporters
/// name it.
pub(super) fn image_names(request: &BuildRequest) -> Vec<String> {
    if !request.outputs.iter().any(BuildOutput::named) {
        return Vec::new();
    }
    let tags = tags(request);
    if !tags.is_empty() {
        return tags;
    }
    let mut names: Vec<String> = Vec::new();
    let given = request.exported().filter(|o| o.named()).filter_map(|o| o.attrs()?.get("name"));
    for name in given.flat_map(|n| n.split(',')).map(str::trim).filter(|n| !n.is_empty()) {
        if !names.iter().any(|known| known == name) {
            names.push(name.to_owned());
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(pairs: &[(&str, &str)]) -> ExporterAttrs {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// Why a request of a context with a Dockerfile and these outputs (and tags) is refused.
    fn checked(outputs: Vec<BuildOutput>, tags: &[&str]) -> Result<(), BuildError> {
        let context = tempfile::tempdir().unwrap();
        std::fs::write(context.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        let request = BuildRequest {
            context: context.path().to_string_lossy().into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            outputs,
            ..Default::default()
        };
        check(&request).map(|_| ())
    }

    #[test]
    fn a_push_is_named_by_the_tags_or_by_its_own_name_as_buildx_asks() {
        let named = BuildOutput::push().with_attrs(given(&[("name", "127.0.0.1:5055/app:1")]));
        assert!(checked(vec![named.clone()], &[]).is_ok());
        assert!(matches!(checked(vec![BuildOutput::push()], &[]), Err(BuildError::TagRequired)));
        assert!(checked(vec![BuildOutput::image()], &[]).is_ok(), "kept in the builder, unnamed");
        let request = BuildRequest { outputs: vec![named, BuildOutput::local("out")], ..Default::default() };
        assert_eq!(image_names(&request), ["127.0.0.1:5055/app:1"]);
        let tagged = BuildRequest { tags: vec!["r/a:2".into()], ..request };
        assert_eq!(image_names(&tagged), ["r/a:2"], "the tags name every image output");
    }

    #[test]
    fn a_docker_tarball_of_several_platforms_or_with_attestations_is_refused_as_buildx_refuses_it() {
        let context = tempfile::tempdir().unwrap();
        std::fs::write(context.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        let request = |platforms: &[&str], sbom: bool, output: BuildOutput| BuildRequest {
            context: context.path().to_string_lossy().into(),
            platforms: platforms.iter().map(|p| p.to_string()).collect(),
            sbom,
            outputs: vec![output],
            ..Default::default()
        };
        let docker = BuildOutput::Docker { dest: "image.tar".into(), attrs: ExporterAttrs::new() };
        let two = ["linux/amd64", "linux/arm64"];
        let one = ["linux/amd64"];
        let provenance =
            |provenance: ProvenanceAttest| BuildRequest { provenance, ..request(&one, false, docker.clone()) };
        assert!(check(&request(&one, false, docker.clone())).is_ok(), "buildx's default provenance is no list");
        assert!(check(&provenance(ProvenanceAttest::Off)).is_ok());
        let explicit = provenance(ProvenanceAttest::Attrs("type=provenance,mode=min".into()));
        for refused in [request(&two, false, docker.clone()), request(&one, true, docker), explicit] {
            let error = check(&refused).map(|_| ()).unwrap_err();
            assert_eq!(
                error.to_string(),
                "docker exporter does not support exporting manifest lists, use the oci exporter instead"
            );
        }
        assert!(check(&request(&two, true, BuildOutput::oci("image.tar"))).is_ok(), "an OCI tarball holds an index");
    }

    #[test]
    fn one_oci_layout_folder_per_build_as_buildkits_client_offers_one_store() {
        let folder = |dest: &str| BuildOutput::oci(dest).with_attrs(given(&[("tar", "false")]));
        assert!(folder("a").is_layout_folder() && !BuildOutput::oci("a.tar").is_layout_folder());
        assert!(checked(vec![folder("a")], &[]).is_ok());
        assert!(matches!(checked(vec![folder("a"), folder("b")], &[]), Err(BuildError::LayoutFolders)));
        let file = tempfile::NamedTempFile::new().unwrap();
        let on_a_file = folder(&file.path().to_string_lossy());
        assert!(matches!(checked(vec![on_a_file], &[]), Err(BuildError::OutputIsFile(_))));
    }

    #[test]
    fn outputs_written_before_attributes_read_as_outputs_without_them() {
        let old: Vec<BuildOutput> =
            serde_json::from_str(r#"[{"type":"push"},{"type":"load"},{"type":"oci","dest":"a.tar"}]"#).unwrap();
        assert_eq!(old, [BuildOutput::push(), BuildOutput::load(), BuildOutput::oci("a.tar")]);
        let written = serde_json::to_string(&[BuildOutput::push()]).unwrap();
        assert_eq!(written, r#"[{"type":"push"}]"#, "an output without attributes is written as before");
    }
}
