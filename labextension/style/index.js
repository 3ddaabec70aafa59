import './base.css';
import './executions.css';
import './sidebar.css';
