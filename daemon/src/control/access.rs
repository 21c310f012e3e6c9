//! Who may use the control socket, decided per connection from the peer's credentials.
//!
//! The kernel tells us the peer's uid, gid and pid (`SO_PEERCRED`); nothing the client says
//! is trusted. The daemon's own user and root operate; members of the configured operator
//! group operate; members of the configured viewer group may read but not act; everyone else
//! is refused at `hello`. Group membership is the system's group database
//! (`getgrouplist`) plus the peer's effective gid, so `sg`/`newgrp`/`setpriv --regid` count
//! as well as `/etc/group`.
//!
//! This module decides; it does not bind or serve. The socket's file mode is only the first
//! fence (see `listener.rs`); this check is the one that holds even when the mode is wide.

use std::ffi::CString;

use supersetd_proto::Access;

/// The groups that widen access beyond the daemon's user and root.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccessPolicy {
    pub operator_gid: Option<u32>,
    pub viewer_gid: Option<u32>,
}

/// A connected peer, as the kernel and the user database describe it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Peer {
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub pid: Option<u32>,
    /// The user name for `uid`, when the system knows it.
    pub user: Option<String>,
    /// Every group the user belongs to, plus the peer's effective gid.
    pub groups: Vec<u32>,
}

impl Peer {
    /// Look the peer's uid up in the user and group databases. Blocking (NSS): call it off
    /// the async runtime.
    pub fn identify(uid: Option<u32>, gid: Option<u32>, pid: Option<u32>) -> Peer {
        let user = uid.and_then(|u| nix::unistd::User::from_uid(u.into()).ok().flatten());
        let mut groups: Vec<u32> = user
            .as_ref()
            .and_then(|u| {
                let name = CString::new(u.name.as_bytes()).ok()?;
                nix::unistd::getgrouplist(&name, u.gid).ok()
            })
            .unwrap_or_default()
            .into_iter()
            .map(|g| g.as_raw())
            .collect();
        groups.extend(gid);
        groups.sort_unstable();
        groups.dedup();
        Peer {
            uid,
            gid,
            pid,
            user: user.map(|u| u.name),
            groups,
        }
    }

    /// `uid 1001 (alice)`, for refusals and logs.
    pub fn describe(&self) -> String {
        match (self.uid, &self.user) {
            (Some(uid), Some(name)) => format!("uid {uid} ({name})"),
            (Some(uid), None) => format!("uid {uid}"),
            _ => "an unknown user".to_owned(),
        }
    }
}

impl AccessPolicy {
    /// What `peer` may do on a daemon running as `own_uid`; `None` is refused.
    pub fn decide(&self, peer: &Peer, own_uid: u32) -> Option<Access> {
        let uid = peer.uid?;
        let member = |gid: Option<u32>| gid.is_some_and(|g| peer.groups.contains(&g));
        if uid == own_uid || uid == 0 || member(self.operator_gid) {
            Some(Access::Operator)
        } else if member(self.viewer_gid) {
            Some(Access::Viewer)
        } else {
            None
        }
    }

    /// The group the socket file belongs to, when one is configured: the only group, or the
    /// operator group when both are.
    pub fn socket_gid(&self) -> Option<u32> {
        self.operator_gid.or(self.viewer_gid)
    }

    /// Mode of the socket file. Owner-only by default; 0660 for one group. With two different
    /// groups no single file group admits both, so the socket is 0666 (as D-Bus's system bus
    /// is) and the credential check above is the fence.
    pub fn socket_mode(&self) -> u32 {
        match (self.operator_gid, self.viewer_gid) {
            (None, None) => 0o600,
            (Some(a), Some(b)) if a != b => 0o666,
            _ => 0o660,
        }
    }

    /// Mode for a socket directory the daemon creates: owner-only, or enterable (not
    /// listable) by the socket's group, or by anyone when the socket is 0666.
    pub fn dir_mode(&self) -> u32 {
        match self.socket_mode() {
            0o600 => 0o700,
            0o660 => 0o710,
            _ => 0o711,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(uid: u32, groups: &[u32]) -> Peer {
        Peer {
            uid: Some(uid),
            groups: groups.to_vec(),
            ..Peer::default()
        }
    }

    #[test]
    fn default_policy_admits_only_the_daemon_user_and_root() {
        let p = AccessPolicy::default();
        assert_eq!(p.decide(&peer(1000, &[1000]), 1000), Some(Access::Operator));
        assert_eq!(p.decide(&peer(0, &[0]), 1000), Some(Access::Operator));
        assert_eq!(p.decide(&peer(1001, &[1001, 50]), 1000), None);
        assert_eq!(p.decide(&Peer::default(), 1000), None);
        assert_eq!((p.socket_mode(), p.dir_mode()), (0o600, 0o700));
    }

    #[test]
    fn groups_make_operators_and_viewers() {
        let p = AccessPolicy {
            operator_gid: Some(50),
            viewer_gid: Some(60),
        };
        assert_eq!(
            p.decide(&peer(1001, &[1001, 50]), 0),
            Some(Access::Operator)
        );
        assert_eq!(p.decide(&peer(1002, &[60]), 0), Some(Access::Viewer));
        assert_eq!(p.decide(&peer(1003, &[70]), 0), None);
        assert_eq!(p.socket_mode(), 0o666);
        let one = AccessPolicy {
            operator_gid: Some(50),
            viewer_gid: None,
        };
        assert_eq!(
            (one.socket_mode(), one.dir_mode(), one.socket_gid()),
            (0o660, 0o710, Some(50))
        );
    }

    #[test]
    fn identify_finds_root_and_its_groups() {
        let p = Peer::identify(Some(0), Some(0), Some(1));
        assert_eq!(p.user.as_deref(), Some("root"));
        assert!(p.groups.contains(&0));
        assert_eq!(p.describe(), "uid 0 (root)");
    }
}
