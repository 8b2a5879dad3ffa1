//! fsutil's `Stat.mode` is Go's `os.FileMode`, both ways (the context Buildlane sends, a local
//! output it receives): the file's type in high bits, and the set-user-id, set-group-id and sticky
//! bits apart from the nine permission bits, where Unix keeps them beside the permissions.

pub const DIR: u32 = 1 << 31;
pub const SYMLINK: u32 = 1 << 27;
pub const DEVICE: u32 = 1 << 26;
pub const NAMED_PIPE: u32 = 1 << 25;
pub const SOCKET: u32 = 1 << 24;
const SETUID: u32 = 1 << 23;
const SETGID: u32 = 1 << 22;
pub const CHAR_DEVICE: u32 = 1 << 21;
const STICKY: u32 = 1 << 20;
const IRREGULAR: u32 = 1 << 19;
/// Every bit that makes an entry something other than a regular file.
pub const TYPE_BITS: u32 = DIR | SYMLINK | DEVICE | NAMED_PIPE | SOCKET | CHAR_DEVICE | IRREGULAR;

/// The special bits as Unix and Go place them.
const SPECIAL: [(u32, u32); 3] = [(0o4000, SETUID), (0o2000, SETGID), (0o1000, STICKY)];

/// Go's mode of a file, from what `lstat` says of it.
pub fn of(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let ft = meta.file_type();
    let kinds = [
        (ft.is_dir(), DIR),
        (ft.is_symlink(), SYMLINK),
        (ft.is_fifo(), NAMED_PIPE),
        (ft.is_socket(), SOCKET),
        (ft.is_block_device(), DEVICE),
        (ft.is_char_device(), DEVICE | CHAR_DEVICE),
    ];
    let raw = meta.mode();
    let kind = kinds.iter().filter(|(is, _)| *is).fold(0, |mode, (_, bits)| mode | bits);
    SPECIAL.iter().filter(|(unix, _)| raw & unix != 0).fold(kind | (raw & 0o777), |mode, (_, go)| mode | go)
}

/// The Unix permissions (`chmod`'s argument) of Go's `mode`.
pub fn unix_permissions(mode: u32) -> u32 {
    SPECIAL.iter().filter(|(_, go)| mode & go != 0).fold(mode & 0o777, |perm, (unix, _)| perm | unix)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn set_id_and_sticky_bits_travel_apart_from_the_permissions_and_come_back() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("suid");
        std::fs::write(&file, "x").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o4751)).unwrap();
        let mode = of(&std::fs::symlink_metadata(&file).unwrap());
        assert_eq!(mode, SETUID | 0o751, "Go's os.FileMode of -rwsr-x--x");
        assert_eq!(unix_permissions(mode), 0o4751);
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o3777)).unwrap();
        let mode = of(&std::fs::symlink_metadata(dir.path()).unwrap());
        assert_eq!(mode, DIR | SETGID | STICKY | 0o777);
        assert_eq!(unix_permissions(mode), 0o3777);
    }
}
