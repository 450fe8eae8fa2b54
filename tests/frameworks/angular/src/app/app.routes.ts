import { Routes } from '@angular/router';
import { ReauthPage } from './reauth-page';

// Added for reauth: the page the framework tier drives.
export const routes: Routes = [{ path: 'reauth', component: ReauthPage }];
