//! Admin calls of the Slack integration (`desk admin slack ...`).

use reqwest::Method;

use super::api::{ApiClient, Request};
use super::error::ApiError;
use crate::model::{AutoResponder, Page, SlackChannelMapping, SlackWorkspace};

impl ApiClient {
    pub async fn list_slack_workspaces(&self) -> Result<Page<SlackWorkspace>, ApiError> {
        self.call(Request::new(Method::GET, "integrations/slack/workspaces")).await
    }

    /// Adds or replaces a workspace; `***` as a secret keeps the stored one.
    pub async fn put_slack_workspace(&self, w: &SlackWorkspace) -> Result<SlackWorkspace, ApiError> {
        let path = format!("integrations/slack/workspaces/{}", w.slack_team_id);
        self.call(Request::new(Method::PUT, path).json(w)?).await
    }

    pub async fn delete_slack_workspace(&self, team: &str) -> Result<(), ApiError> {
        self.execute(Request::new(Method::DELETE, format!("integrations/slack/workspaces/{team}")))
            .await
            .map(|_| ())
    }

    pub async fn list_slack_channels(&self) -> Result<Page<SlackChannelMapping>, ApiError> {
        self.call(Request::new(Method::GET, "integrations/slack/channels")).await
    }

    pub async fn put_slack_channel(&self, m: &SlackChannelMapping) -> Result<SlackChannelMapping, ApiError> {
        let path = format!("integrations/slack/channels/{}", m.channel_id);
        self.call(Request::new(Method::PUT, path).json(m)?).await
    }

    pub async fn delete_slack_channel(&self, channel: &str) -> Result<(), ApiError> {
        self.execute(Request::new(Method::DELETE, format!("integrations/slack/channels/{channel}")))
            .await
            .map(|_| ())
    }

    pub async fn get_auto_responders(&self) -> Result<Page<AutoResponder>, ApiError> {
        self.call(Request::new(Method::GET, "auto-responders")).await
    }

    /// Replaces the rules (with id: kept and updated; without: new; absent: deleted).
    pub async fn put_auto_responders(
        &self,
        rules: &[AutoResponder],
    ) -> Result<Page<AutoResponder>, ApiError> {
        self.call(Request::new(Method::PUT, "auto-responders").json(&rules)?).await
    }
}
