//! Roles and what each may do. Jurisdiction (where) is the user's node or organisation's region;
//! this module says what (which actions, which fields unmasked).
use crate::keyword_enum;

keyword_enum!(
    Role, "role", {
        Resident => ["resident", "居民"],
        GridWorker => ["grid_worker", "网格员"],
        CommunityWorker => ["community_worker", "社区工作者"],
        CommunitySecretary => ["community_secretary", "社区书记"],
        StreetDispatcher => ["street_dispatcher", "街道调度员"],
        StreetLeader => ["street_leader", "街道领导"],
        DepartmentHandler => ["department_handler", "部门处置人员"],
        DistrictDispatcher => ["district_dispatcher", "区调度员"],
        Leader => ["leader", "领导"],
        DataSteward => ["data_steward", "数据管理员"],
        Admin => ["admin", "系统管理员"],
        Integrator => ["integrator", "集成方"],
    }
);

impl Role {
    /// Roles whose work needs residents' names, ID numbers and phones in the clear: the people who
    /// visit and call residents, and the stewards of the data. Every such read is audited.
    pub fn sees_sensitive(self) -> bool {
        matches!(self, Role::GridWorker | Role::CommunityWorker | Role::CommunitySecretary | Role::DataSteward | Role::Admin)
    }

    /// Roles that may create, change and delete registry records within their jurisdiction.
    pub fn edits_registry(self) -> bool {
        matches!(self, Role::GridWorker | Role::CommunityWorker | Role::CommunitySecretary | Role::DataSteward | Role::Admin | Role::Integrator)
    }

    /// Roles that may say what the server's own video analytics watch: a camera's source names a
    /// file or stream the server opens, so only those who run the platform.
    pub fn configures_analytics(self) -> bool {
        matches!(self, Role::Admin | Role::Integrator)
    }

    /// Roles that may run bulk imports.
    pub fn imports(self) -> bool {
        matches!(self, Role::DataSteward | Role::Admin | Role::Integrator)
    }

    /// Roles that may manage users and read the access audit log.
    pub fn administers(self) -> bool {
        matches!(self, Role::Admin)
    }

    /// Roles that may hold long-lived API tokens they issue themselves (administrators may issue
    /// one for any user in their jurisdiction).
    pub fn holds_api_tokens(self) -> bool {
        matches!(self, Role::Integrator | Role::DataSteward | Role::Admin)
    }

    /// Roles whose devices and systems may push camera and edge-AI alarms.
    pub fn pushes_alarms(self) -> bool {
        matches!(self, Role::Integrator | Role::Admin)
    }

    /// Roles that issue and revoke device credentials and send commands to devices.
    pub fn manages_devices(self) -> bool {
        matches!(self, Role::Integrator | Role::Admin)
    }

    /// Residents see only the registry's shape around their home, never other people.
    pub fn reads_people(self) -> bool {
        !matches!(self, Role::Resident)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twelve_roles_with_distinct_codes() {
        assert_eq!(Role::ALL.len(), 12);
        for role in Role::ALL {
            assert_eq!(Role::parse("role", role.as_str()).unwrap(), *role);
        }
        assert!(Role::GridWorker.sees_sensitive());
        assert!(!Role::Leader.sees_sensitive());
        assert!(!Role::Resident.edits_registry());
    }
}
