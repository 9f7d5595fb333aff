//! Who may read and write which tenant's data: the one place the API asks.

use std::collections::BTreeSet;

use watchfloor_event::TenantId;

use crate::audit::Actor;
use crate::ids::UserId;
use crate::token::TokenScope;
use crate::user::{Role, User};

/// Whoever is making a request: a signed-in user or an API token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// Runs the instance: reads and writes every tenant.
    Admin { user: UserId },
    /// Reads and writes the tenants in the set, no others.
    Analyst {
        user: UserId,
        tenants: BTreeSet<TenantId>,
    },
    /// Reads its own tenant; writes nothing.
    Customer { user: UserId, tenant: TenantId },
    /// An API token: its tenant only, with its role's rights there.
    Token(TokenScope),
}

impl Principal {
    /// The principal a user acts as, or `None` for a disabled user (or a customer
    /// without a tenant, which the schema forbids).
    pub fn for_user(user: &User) -> Option<Principal> {
        if user.disabled {
            return None;
        }
        Some(match user.role {
            Role::Admin => Principal::Admin { user: user.id },
            Role::Analyst => Principal::Analyst {
                user: user.id,
                tenants: user.tenants.iter().copied().collect(),
            },
            Role::Customer => Principal::Customer {
                user: user.id,
                tenant: *user.tenants.first()?,
            },
        })
    }

    /// The principal an accepted token acts as.
    pub fn for_token(scope: TokenScope) -> Principal {
        Principal::Token(scope)
    }

    /// Who the audit log names for this principal's changes.
    pub fn actor(&self) -> Actor {
        match self {
            Principal::Admin { user }
            | Principal::Analyst { user, .. }
            | Principal::Customer { user, .. } => Actor::User(*user),
            Principal::Token(scope) => Actor::Token(scope.token_id),
        }
    }
}

/// The access rules. Every tenant-scoped request asks here before touching data.
#[derive(Clone, Copy, Debug)]
pub struct Access;

impl Access {
    /// Whether `principal` may read `tenant`'s data.
    pub fn can_read(principal: &Principal, tenant: TenantId) -> bool {
        match principal {
            Principal::Admin { .. } => true,
            Principal::Analyst { tenants, .. } => tenants.contains(&tenant),
            Principal::Customer { tenant: own, .. } => *own == tenant,
            Principal::Token(scope) => scope.tenant == tenant,
        }
    }

    /// Whether `principal` may change `tenant`'s data (work incidents, add notes).
    pub fn can_write(principal: &Principal, tenant: TenantId) -> bool {
        match principal {
            Principal::Admin { .. } => true,
            Principal::Analyst { tenants, .. } => tenants.contains(&tenant),
            Principal::Customer { .. } => false,
            Principal::Token(scope) => scope.tenant == tenant && scope.role == Role::Analyst,
        }
    }

    /// Whether `principal` may administer the instance: tenants, users, tokens.
    pub fn can_administer(principal: &Principal) -> bool {
        matches!(principal, Principal::Admin { .. })
    }
}
