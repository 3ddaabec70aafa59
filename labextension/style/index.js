import './base.css';
import './forms.css';
import './chat.css';
import './executions.css';
import './deployments.css';
import './mlflow.css';
import './sidebar.css';
