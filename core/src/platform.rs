//! OCI platforms (`linux/arm/v7`) as BuildKit and buildx name them, and whether an engine runs them natively.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An OCI platform. Serialised as buildx stores it: `{"architecture","os"[,"os.version","os.features","variant"]}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(rename = "os.version", default, skip_serializing_if = "String::is_empty")]
    pub os_version: String,
    #[serde(rename = "os.features", default, skip_serializing_if = "Vec::is_empty")]
    pub os_features: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub variant: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlatformError {
    #[error("invalid platform \"{0}\": expected os/arch[/variant], e.g. linux/arm64")]
    Malformed(String),
    #[error("invalid platform \"{platform}\": unknown {what} \"{value}\"")]
    Unknown { platform: String, what: &'static str, value: String },
}

const KNOWN_OS: &[&str] = &["linux", "windows", "darwin", "freebsd", "netbsd", "openbsd", "solaris", "illumos", "aix"];
const KNOWN_ARCH: &[&str] = &[
    "amd64", "386", "arm", "arm64", "riscv64", "ppc64le", "ppc64", "s390x", "mips64le", "mips64", "mipsle", "mips",
    "loong64", "wasm",
];

impl Platform {
    pub fn new(os: &str, architecture: &str, variant: &str) -> Self {
        Self {
            architecture: architecture.to_owned(),
            os: os.to_owned(),
            os_version: String::new(),
            os_features: Vec::new(),
            variant: variant.to_owned(),
        }
    }

    /// Normalises the way containerd's `platforms.Normalize` does: aliases (`x86_64`, `aarch64`) become
    /// their GOARCH names, `arm64/v8` drops its default variant and a bare `arm` means `arm/v7`.
    pub fn normalized(mut self) -> Self {
        self.os = self.os.to_ascii_lowercase();
        self.architecture = match self.architecture.to_ascii_lowercase().as_str() {
            "x86_64" | "x86-64" => "amd64".into(),
            "i386" | "i686" => "386".into(),
            "aarch64" => "arm64".into(),
            "armhf" | "armel" => "arm".into(),
            other => other.into(),
        };
        self.variant = self.variant.to_ascii_lowercase();
        match self.architecture.as_str() {
            "arm64" if self.variant == "v8" || self.variant == "8" => self.variant.clear(),
            "arm" if self.variant.is_empty() => self.variant = "v7".into(),
            "arm" if matches!(self.variant.as_str(), "5" | "6" | "7" | "8") => self.variant.insert(0, 'v'),
            "amd64" if self.variant == "v1" => self.variant.clear(),
            _ => {}
        }
        self
    }

    /// Whether an engine running on `host_arch` (GOARCH, as `docker version` reports it) runs this
    /// platform without QEMU. Same architecture is native, and so is 32-bit x86 on amd64.
    pub fn is_native_on(&self, host_os: &str, host_arch: &str) -> bool {
        self.os == host_os && (self.architecture == host_arch || (host_arch == "amd64" && self.architecture == "386"))
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if !self.variant.is_empty() {
            write!(f, "/{}", self.variant)?;
        }
        Ok(())
    }
}

impl FromStr for Platform {
    type Err = PlatformError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.trim().split('/').collect();
        let (os, arch, variant) = match parts.as_slice() {
            [os, arch] => (*os, *arch, ""),
            [os, arch, variant] if !variant.is_empty() => (*os, *arch, *variant),
            _ => return Err(PlatformError::Malformed(s.to_owned())),
        };
        if os.is_empty() || arch.is_empty() {
            return Err(PlatformError::Malformed(s.to_owned()));
        }
        let platform = Platform::new(os, arch, variant).normalized();
        if !KNOWN_OS.contains(&platform.os.as_str()) {
            return Err(PlatformError::Unknown {
                platform: s.to_owned(),
                what: "operating system",
                value: platform.os,
            });
        }
        if !KNOWN_ARCH.contains(&platform.architecture.as_str()) {
            return Err(PlatformError::Unknown {
                platform: s.to_owned(),
                what: "architecture",
                value: platform.architecture,
            });
        }
        let variant_ok = match platform.architecture.as_str() {
            "arm" => matches!(platform.variant.as_str(), "v5" | "v6" | "v7" | "v8"),
            "arm64" => matches!(platform.variant.as_str(), "" | "v8" | "v9"),
            "amd64" => matches!(platform.variant.as_str(), "" | "v2" | "v3" | "v4"),
            _ => platform.variant.is_empty(),
        };
        if !variant_ok {
            return Err(PlatformError::Unknown { platform: s.to_owned(), what: "variant", value: platform.variant });
        }
        Ok(platform)
    }
}

/// Parses a comma-separated list (`--platform linux/amd64,linux/arm64`), normalised and deduplicated in order.
pub fn parse_list<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<Vec<Platform>, PlatformError> {
    let mut out: Vec<Platform> = Vec::new();
    for item in items.into_iter().flat_map(|s| s.split(',')).map(str::trim).filter(|s| !s.is_empty()) {
        let platform: Platform = item.parse()?;
        if !out.contains(&platform) {
            out.push(platform);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises_the_names_people_type() {
        assert_eq!("linux/amd64".parse::<Platform>().unwrap().to_string(), "linux/amd64");
        assert_eq!("linux/aarch64".parse::<Platform>().unwrap().to_string(), "linux/arm64");
        assert_eq!("linux/arm64/v8".parse::<Platform>().unwrap().to_string(), "linux/arm64");
        assert_eq!("linux/arm".parse::<Platform>().unwrap().to_string(), "linux/arm/v7");
        assert_eq!("Linux/x86_64".parse::<Platform>().unwrap().to_string(), "linux/amd64");
    }

    #[test]
    fn rejects_what_buildkit_would_reject_with_a_reason() {
        assert!(matches!("foo".parse::<Platform>(), Err(PlatformError::Malformed(_))));
        assert!(matches!("".parse::<Platform>(), Err(PlatformError::Malformed(_))));
        assert!(matches!("linux/".parse::<Platform>(), Err(PlatformError::Malformed(_))));
        let err = "linux/arm/v9".parse::<Platform>().unwrap_err();
        assert_eq!(err.to_string(), "invalid platform \"linux/arm/v9\": unknown variant \"v9\"");
        let err = "plan9/amd64".parse::<Platform>().unwrap_err();
        assert!(err.to_string().contains("unknown operating system \"plan9\""));
    }

    #[test]
    fn stores_as_buildx_does() {
        let json = serde_json::to_string(&"linux/arm/v7".parse::<Platform>().unwrap()).unwrap();
        assert_eq!(json, r#"{"architecture":"arm","os":"linux","variant":"v7"}"#);
    }

    #[test]
    fn lists_are_split_normalised_and_deduplicated() {
        let list = parse_list(["linux/amd64, linux/arm64", "linux/aarch64"]).unwrap();
        assert_eq!(list.iter().map(ToString::to_string).collect::<Vec<_>>(), ["linux/amd64", "linux/arm64"]);
    }

    #[test]
    fn native_means_same_architecture() {
        let amd64: Platform = "linux/amd64/v3".parse().unwrap();
        let arm64: Platform = "linux/arm64".parse().unwrap();
        assert!(amd64.is_native_on("linux", "amd64"));
        assert!("linux/386".parse::<Platform>().unwrap().is_native_on("linux", "amd64"));
        assert!(!arm64.is_native_on("linux", "amd64"));
        assert!(arm64.is_native_on("linux", "arm64"));
    }
}
