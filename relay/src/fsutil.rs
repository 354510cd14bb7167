//! Small file helpers.

use std::io::Write;
use std::path::Path;

use crate::error::RelayError;

/// Writes a file only its owner can read, atomically (temporary file, fsync, rename).
pub(crate) fn write_private(path: &Path, contents: &[u8]) -> Result<(), RelayError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(|e| RelayError::io(path, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| RelayError::io(path, e))?;
    }
    file.write_all(contents)
        .map_err(|e| RelayError::io(path, e))?;
    file.as_file()
        .sync_all()
        .map_err(|e| RelayError::io(path, e))?;
    file.persist(path)
        .map_err(|e| RelayError::io(path, e.error))?;
    Ok(())
}
